// Start-up shared by the server and the CLI scripts: .env, config, logger, database.
import { ConfigError, type Config, loadConfig, loadDotEnv } from './config.ts';
import { type DatabaseHandle, openDatabase } from './db/database.ts';
import { createLogger, type LogHandle } from './platform/logging.ts';

export interface Runtime {
  config: Config;
  log: LogHandle;
  database: DatabaseHandle;
}

export function loadConfigOrExit(): { config: Config; warnings: string[] } {
  loadDotEnv();
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`\n${err.message}\n\n`);
      process.exit(1);
    }
    throw err;
  }
}

export async function openRuntime(opts: { stdoutLogs?: boolean } = {}): Promise<Runtime> {
  const { config, warnings } = loadConfigOrExit();
  const log = createLogger({ ...config.log, stdout: opts.stdoutLogs ?? config.log.stdout });
  for (const w of warnings) log.logger.warn(w);
  const database = await openDatabase(config.database, log.logger);
  return { config, log, database };
}
