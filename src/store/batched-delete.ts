import { FindOptionsWhere, In, ObjectLiteral, Repository } from 'typeorm';

/**
 * Deletes the rows matching `where`, at most `batchSize` per statement (keys first, then DELETE
 * by primary key, which MySQL and SQLite both accept), so that a large purge never holds long
 * locks over the rows that live requests use. Returns how many went.
 */
export async function deleteInBatches<T extends ObjectLiteral>(
  repository: Repository<T>,
  key: keyof T & string,
  where: FindOptionsWhere<T>,
  batchSize: number,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await repository.find({ select: { [key]: true } as never, where, take: batchSize });
    if (batch.length > 0) await repository.delete({ [key]: In(batch.map((row) => row[key])) } as FindOptionsWhere<T>);
    deleted += batch.length;
    if (batch.length < batchSize) return deleted;
    // better-sqlite3 answers synchronously, so without this turn of the event loop a long purge
    // would starve every request until it ended.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
