import { In, LessThanOrEqual, Repository } from 'typeorm';

const BATCH = 1000;

/**
 * Deletes the rows whose `expiresAt` is at or before `now`, a bounded batch per statement (ids
 * first, then DELETE by id, which MySQL and SQLite both accept), so that a large purge never
 * holds long locks over the rows that live requests use. Returns how many went.
 */
export async function deleteExpired<T extends { id: number; expiresAt: number }>(repository: Repository<T>, now: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await repository.find({ select: { id: true }, where: { expiresAt: LessThanOrEqual(now) }, take: BATCH } as never);
    if (batch.length > 0) await repository.delete({ id: In(batch.map((row) => row.id)) } as never);
    deleted += batch.length;
    if (batch.length < BATCH) return deleted;
  }
}
