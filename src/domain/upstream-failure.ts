// How an upstream exchange failed. The data plane classifies a failure and the metrics count it by
// the same names, so a kind told apart on one side can never be folded into another on the way.
export type FailureKind =
  /** No connection, or it was lost before the upstream answered. */
  | 'connect'
  /** The upstream was slower than a configured bound. */
  | 'timeout'
  /** The upstream's answer was invalid or broke off (say, a reset in the middle of the body). */
  | 'broken';
