/** A PostgreSQL URL for logs and errors, apart from the driver (pg loads only when a URL is set). */

/** The URL with its password replaced, for logs and errors. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
