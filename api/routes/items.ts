/** Catalog: list and read items; admins create items and edit them with optimistic locking. */
import { z } from 'zod';
import type { ItemService } from '../../services/item';
import { IdParams, ProblemSchema, defineRoute, type RouteContext } from '../http';
import { IdSchema, ItemSchema, MoneySchema } from './schemas';

const ItemFields = {
  name: z.string().trim().min(1).max(200),
  size: z.string().trim().min(1).max(50),
  price: MoneySchema,
  stockQuantity: z.number().int().min(0).max(1_000_000_000),
};
const NewItem = z.object(ItemFields).strict().openapi('NewItem');
const ItemPatch = z
  .object({
    version: z.number().int().min(0),
    name: ItemFields.name.optional(),
    size: ItemFields.size.optional(),
    price: ItemFields.price.optional(),
    stockQuantity: ItemFields.stockQuantity.optional(),
  })
  .strict()
  .openapi('ItemPatch');
const ListQuery = z.object({
  ids: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'a comma-separated list of item ids')
    .transform((ids) => ids.split(',').map(Number))
    .pipe(z.array(IdSchema).max(100))
    .optional(),
});

export function itemRoutes(context: RouteContext, items: ItemService): void {
  defineRoute(
    context,
    {
      method: 'get',
      path: '/items',
      summary: 'List items, optionally only the given ids',
      tag: 'items',
      access: 'public',
      query: ListQuery,
      responses: { 200: { description: 'Items', schema: z.object({ items: z.array(ItemSchema) }) } },
    },
    async ({ query }, res) => {
      res.json({ items: await items.listItems(query.ids) });
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/items/:id',
      summary: 'Read one item',
      tag: 'items',
      access: 'public',
      params: IdParams,
      responses: {
        200: { description: 'Item', schema: ItemSchema },
        404: { description: 'No such item', schema: ProblemSchema },
      },
    },
    async ({ params }, res) => {
      res.json(await items.requireItem(params.id));
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/items',
      summary: 'Create an item (admin)',
      tag: 'items',
      access: 'admin',
      body: NewItem,
      responses: {
        201: { description: 'Created', schema: z.object({ id: IdSchema }) },
        409: { description: 'An item with that name and size exists', schema: ProblemSchema },
      },
    },
    async ({ body }, res) => {
      const item = await items.createItem(body);
      res.status(201).location(`/items/${item.id}`).json({ id: item.id });
    },
  );

  defineRoute(
    context,
    {
      method: 'patch',
      path: '/items/:id',
      summary: 'Edit an item (admin); `version` must be the version you read',
      tag: 'items',
      access: 'admin',
      params: IdParams,
      body: ItemPatch,
      responses: {
        200: { description: 'Updated item', schema: ItemSchema },
        404: { description: 'No such item', schema: ProblemSchema },
        409: { description: 'Stale version', schema: ProblemSchema },
      },
    },
    async ({ params, body }, res) => {
      res.json(await items.updateItem(params.id, body));
    },
  );
}
