// The rule for a service's name: the config enforces it, and the admin API echoes a name back only
// when it follows it.
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const isServiceName = (name: string): boolean => SERVICE_NAME.test(name);
