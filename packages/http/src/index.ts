export { HttpErrors, ValidationFailedError, validationFailed, httpErrorDocs } from './errors.js'
export {
  httpConventions, toEnvelope, isErrorEnvelope, replyWithEnvelope, frameworkErrorHandler
} from './conventions.js'
export { clientErrorHandler, createClientErrorHandler } from './client-errors.js'
export type { ClientErrorClasses, ClientErrorHandler } from './client-errors.js'
export {
  serverOptions, loggerOptions, requestIdFrom, JSON_BODY_LIMIT, DEFAULT_REQUEST_TIMEOUT_MS
} from './server-options.js'
export type { ServerSettings, LoggerSettings } from './server-options.js'
export { createTaskTracker } from './tasks.js'
export type { TaskTracker } from './tasks.js'
export { taskLifecycle, listen } from './lifecycle.js'
export type { LifecycleOptions, ListenOptions } from './lifecycle.js'
export { healthRoutes } from './health.js'
export type { HealthCheck, HealthOptions } from './health.js'
export { ErrorSchema, MessageSchema, UuidSchema, errorResponses } from './schemas.js'
