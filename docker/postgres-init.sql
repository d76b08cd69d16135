-- Runs once, when the PostgreSQL volume is new (docker-entrypoint-initdb.d, psql 17).
-- One role per service, owning its own database only; PUBLIC loses CONNECT, so one service's credentials open
-- no other service's data. Temporal gets its own role for its two databases. Passwords come from the environment
-- compose passes to the postgres container (\getenv), so none is written here.
\set ON_ERROR_STOP on
\getenv temporal_pw TEMPORAL_DB_PASSWORD
\getenv user_pw USER_DB_PASSWORD
\getenv item_pw ITEM_DB_PASSWORD
\getenv coupon_pw COUPON_DB_PASSWORD
\getenv payment_pw PAYMENT_DB_PASSWORD
\getenv order_pw ORDER_DB_PASSWORD

CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

CREATE ROLE user_service LOGIN PASSWORD :'user_pw';
CREATE DATABASE "user" OWNER user_service;
CREATE ROLE item_service LOGIN PASSWORD :'item_pw';
CREATE DATABASE "item" OWNER item_service;
CREATE ROLE coupon_service LOGIN PASSWORD :'coupon_pw';
CREATE DATABASE "coupon" OWNER coupon_service;
CREATE ROLE payment_service LOGIN PASSWORD :'payment_pw';
CREATE DATABASE "payment" OWNER payment_service;
CREATE ROLE order_service LOGIN PASSWORD :'order_pw';
CREATE DATABASE "order" OWNER order_service;

REVOKE ALL ON DATABASE temporal, temporal_visibility, "user", "item", "coupon", "payment", "order" FROM PUBLIC;
