/**
 * Looking one item up and listing a few, over a walk that hands its items to a visitor
 * until the visitor returns true (a FAT directory's entries, an ext or XFS directory's, an
 * NTFS index's): the two ways every driver reads a directory, written once.
 *
 * @module
 */

/** A walk over items (each given as the visitor's arguments) that stops at the first for which the visitor returns true. */
export type StoppableWalk<Item extends unknown[]> = (visit: (...item: Item) => boolean) => Promise<void>;

/** What `pick` makes of the first item it does not turn into `undefined`, the walk stopping there; `undefined` when no item is picked. */
export async function firstPicked<Item extends unknown[], Picked>(walk: StoppableWalk<Item>, pick: (...item: Item) => Picked | undefined): Promise<Picked | undefined> {
  let picked: Picked | undefined;
  await walk((...item) => {
    picked = pick(...item);
    return picked !== undefined;
  });
  return picked;
}

/**
 * Up to `limit` of what `take` makes of the items, in walk order (an item it turns into
 * `undefined` is left out); the walk stops once `limit` are taken, and is not started for
 * a `limit` of 0 or less.
 */
export async function takeUpTo<Item extends unknown[], Taken>(walk: StoppableWalk<Item>, limit: number, take: (...item: Item) => Taken | undefined): Promise<Taken[]> {
  const taken: Taken[] = [];
  if (limit <= 0) return taken;
  await walk((...item) => {
    const value = take(...item);
    if (value !== undefined) taken.push(value);
    return taken.length >= limit;
  });
  return taken;
}
