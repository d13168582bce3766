// Targeting rules: requests a rollout sends to its canary whatever the weight ("internal users get
// the new version"). A rule names one part of the request and how its value must look; a request
// that matches any rule is targeted. Stored as written (inside the rollout's policy), so every
// replica reads the same rules from the rollout record and a stored policy parses again as it is.

/** A rule's match: `value` exactly, or `regex` (unanchored unless it says so), or neither: present. */
export interface ValueMatch {
  name: string;
  value?: string | undefined;
  regex?: string | undefined;
}

export type TargetingRule = { header: ValueMatch } | { cookie: ValueMatch } | { query: ValueMatch };
export type TargetingSource = 'header' | 'cookie' | 'query';
export const TARGETING_SOURCES: readonly TargetingSource[] = ['header', 'cookie', 'query'];

/** More rules than this are refused: each is tried on every request of the service. */
export const MAX_TARGETING_RULES = 20;
export const MAX_TARGETING_REGEX = 200;
export const MAX_TARGETING_VALUE = 1024;
export const MAX_TARGETING_NAME = 256;

/** The rule's source and match (exactly one key is set; the schema makes sure). */
export function ruleParts(rule: TargetingRule): { source: TargetingSource; match: ValueMatch } {
  if ('header' in rule) return { source: 'header', match: rule.header };
  if ('cookie' in rule) return { source: 'cookie', match: rule.cookie };
  return { source: 'query', match: rule.query };
}

/** Whether two rule lists are the same (a route whose rules did not change is not swapped again). */
export function sameTargeting(a: readonly TargetingRule[], b: readonly TargetingRule[]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
