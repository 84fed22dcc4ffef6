/**
 * The port for counting wrong invite codes (`join CODE`) per counter: `key:SHA256:…` for a key,
 * `addr:…` for an address. Kept in the database, so a restart does not reset a guesser's count.
 */
export interface WrongCodeLog {
  /** How many wrong codes each counter has sent since `since` (counters without any are absent). */
  counts(counters: readonly string[], since: Date): Promise<ReadonlyMap<string, number>>;
  /** Notes one wrong code for each counter at `at`, and forgets every one before `forgetBefore`. */
  note(counters: readonly string[], at: Date, forgetBefore: Date): Promise<void>;
}
