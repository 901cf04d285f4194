import { ConfigError, parseConfig } from '../../src/config/load.js';

/** The problems a config file's text is refused for (none: it is valid). */
export function configProblems(text: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
