// The rule for a service's name: the config enforces it, and the admin API echoes a name back only
// when it follows it.
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** The same rule in words, for the config's and the CLI's messages. */
export const SERVICE_NAME_RULE = 'lowercase letters, digits, "-" or "_", starting with a letter or digit (max 63)';

export const isServiceName = (name: string): boolean => SERVICE_NAME.test(name);
