/** A bad configuration value; its own module so that lib/secrets.ts and lib/config.ts can both throw it. */
export class ConfigError extends Error {
  /** What is wrong, without the prefix, so that problems of several groups join into one message. */
  readonly detail: string;

  constructor(detail: string) {
    super(`Invalid configuration: ${detail}`);
    this.name = 'ConfigError';
    this.detail = detail;
  }
}
