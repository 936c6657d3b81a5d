/**
 * `@mikro-orm/mariadb` for the MikroORM 7.0 project of the version matrix (vitest.config.ts): 7.0 has no
 * MariaDB package at its newest patch, and its MySQL driver is what a 7.0 user points at MariaDB.
 */
export { MySqlDriver as MariaDbDriver } from '@mikro-orm/mysql'
