/** Which database a DATABASE_URL points at; everything provider-specific branches on this one function. */
export type DbProvider = "sqlite" | "postgresql";

export function databaseProvider(databaseUrl: string): DbProvider {
  if (databaseUrl.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return "postgresql";
  throw new Error('DATABASE_URL must start with "file:" (SQLite) or "postgresql://" (PostgreSQL)');
}
