import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { readDemoConfig } from './src/demo/demo.config';
import { databaseOptions } from './src/demo/database.options';

/** For the TypeORM CLI (`npm run migration:run`): the same options the demo server uses. */
export default new DataSource(databaseOptions(readDemoConfig(process.env)));
