import { AfterQueryEvent, BeforeQueryEvent, EntitySubscriberInterface, EventSubscriber, QueryRunner } from 'typeorm';
import { isMysqlFamily, QUERY_DEADLINE_CODE } from '../store/db-errors';

/** The part of a mysql2 connection this needs: its socket. */
interface Mysql2Connection {
  stream?: { destroy(error?: Error): void };
}

/**
 * A TypeORM subscriber (for `subscribers: [queryDeadline(5000)]`) that bounds every MySQL/MariaDB
 * query. A server that stops answering (a network partition, a frozen host) leaves a query
 * waiting forever: TCP sees nothing wrong, and mysql2's own per-query `timeout` (TypeORM's
 * `enableQueryTimeout`) fails the query but leaves the connection busy, so the next query queued
 * on it waits forever instead, and TypeORM then logs the query with its parameters. Past the
 * deadline this destroys the connection's socket: the query and any queued behind it fail at once
 * (code `QUERY_DEADLINE_EXCEEDED`, which `isDatabaseUnavailable` knows), and the pool drops the
 * connection. SQLite queries are left alone (they are synchronous; busy_timeout bounds them).
 */
export function queryDeadline(timeoutMs: number): new () => EntitySubscriberInterface {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error(`queryDeadline: timeoutMs must be a positive whole number (got ${String(timeoutMs)}).`);

  @EventSubscriber()
  class QueryDeadlineSubscriber implements EntitySubscriberInterface {
    /** Per query runner, the timers of its queries in flight; mysql2 answers them in order. */
    private readonly timers = new WeakMap<QueryRunner, NodeJS.Timeout[]>();

    beforeQuery(event: BeforeQueryEvent): void {
      if (!event.queryRunner || !isMysqlFamily(event.connection.options.type)) return;
      const connection = (event.queryRunner as unknown as { databaseConnection?: Mysql2Connection }).databaseConnection;
      const timer = setTimeout(() => connection?.stream?.destroy(deadlineError(timeoutMs)), timeoutMs);
      const queue = this.timers.get(event.queryRunner) ?? [];
      queue.push(timer);
      this.timers.set(event.queryRunner, queue);
    }

    afterQuery(event: AfterQueryEvent): void {
      if (!event.queryRunner) return;
      clearTimeout(this.timers.get(event.queryRunner)?.shift());
    }
  }
  return QueryDeadlineSubscriber;
}

function deadlineError(timeoutMs: number): Error {
  return Object.assign(new Error(`The database did not answer within ${timeoutMs} ms.`), { code: QUERY_DEADLINE_CODE });
}
