// `veer validate [-c file]`: every problem in one pass, exit 2 when there is any.
import { EXIT, type Command } from '../command.js';
import { configPath } from '../config-path.js';

export const validateCommand: Command = {
  name: 'validate',
  synopsis: 'validate [-c file]',
  summary: 'check a config file and list every problem in it',
  options: ['config'],
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    // Loaded lazily so client commands start without the YAML and schema modules.
    const { loadConfigFile } = await import('../../config/load.js');
    const { formatProblems } = await import('../../config/problems.js');
    const path = configPath(args.values, io.env);
    const r = await loadConfigFile(path, io.env);
    if (!r.ok) {
      io.err(formatProblems(r.error, path));
      return EXIT.config;
    }
    io.out(`ok: ${r.value.services.length} services`);
    return EXIT.ok;
  },
};
