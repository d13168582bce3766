// Pure: whether a string is an image reference the engine can parse, by the grammar of Docker's
// distribution/reference package. Checked where a request names an image, so a typo ("veer test app:2",
// "App:2") is a 400 naming the field rather than an engine error, or a request path Node refuses to send.

const ALNUM = '[a-z0-9]+';
const PATH_COMPONENT = `${ALNUM}(?:(?:[._]|__|-+)${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const NAME = `(?:${HOST}(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);

/** The engine's own bound on a repository name. */
const NAME_MAX = 255;

export const IMAGE_REFERENCE_SHAPE =
  'expected an image reference: [registry[:port]/]name[:tag][@digest] with a lowercase name and no spaces, ' +
  'e.g. "app:2", "registry.example.com:5000/team/app:2.1" or "app@sha256:<hex>"';

export function isImageReference(ref: string): boolean {
  // Bounded before the pattern runs: a name, a tag and a digest fit well within this.
  if (ref.length > 1_024) return false;
  const name = REFERENCE.exec(ref)?.[1];
  return name !== undefined && name.length <= NAME_MAX;
}
