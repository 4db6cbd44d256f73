import fs from 'node:fs';
import { buildSchema, type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { Mutation } from './resolvers/mutation.ts';
import { Query } from './resolvers/query.ts';
import { Subscription } from './resolvers/subscription.ts';
import { Types } from './resolvers/types.ts';

/** The schema's source: its descriptions are the API reference (printed at /graphql/schema.graphql). */
export const SDL = fs.readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

type Resolver = GraphQLFieldResolver<unknown, unknown>;

/**
 * The executable schema both transports run: the SDL with the resolvers set on its
 * fields. Built here rather than by Mercurius because subscriptions run on graphql-ws,
 * which needs `subscribe` on the Subscription fields.
 */
export function buildGraphqlSchema(): GraphQLSchema {
  const schema = buildSchema(SDL);
  const fieldsOf = (typeName: string) => {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`schema.graphql has no type ${typeName}`);
    return type.getFields();
  };
  const plain: Record<string, Record<string, unknown>> = { Query, Mutation, ...Types };
  for (const [typeName, resolvers] of Object.entries(plain)) {
    const fields = fieldsOf(typeName);
    for (const [name, resolve] of Object.entries(resolvers)) {
      if (!fields[name]) throw new Error(`schema.graphql has no field ${typeName}.${name}`);
      fields[name].resolve = resolve as Resolver;
    }
  }
  const subscriptionFields = fieldsOf('Subscription');
  for (const [name, { subscribe, resolve }] of Object.entries(Subscription)) {
    if (!subscriptionFields[name]) throw new Error(`schema.graphql has no field Subscription.${name}`);
    subscriptionFields[name].subscribe = subscribe as Resolver;
    subscriptionFields[name].resolve = resolve as Resolver;
  }
  return schema;
}
