-- One database per service, plus Temporal's own two.
CREATE DATABASE "user";
CREATE DATABASE "item";
CREATE DATABASE "coupon";
CREATE DATABASE "payment";
CREATE DATABASE "order";
