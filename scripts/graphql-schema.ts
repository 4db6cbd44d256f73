// Writes docs/schema.graphql from the schema the server runs (what GET /graphql/schema.graphql
// serves); test/graphql-http.test.ts fails until the two agree.
import fs from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { buildGraphqlSchema } from '../src/gateways/graphql/schema.ts';

const file = path.resolve(import.meta.dirname, '../docs/schema.graphql');
fs.writeFileSync(file, `${printSchema(buildGraphqlSchema())}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
