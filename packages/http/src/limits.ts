/** DESIGN's fixed bound on a JSON body, in bytes. */
export const JSON_BODY_LIMIT = 1024 * 1024

/** How long a client may take to send a whole request when a service sets no bound of its own. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
