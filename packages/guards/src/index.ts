export { requireSuperuser } from './superuser-guard.js'
export { GuardErrors, guardErrorDocs } from './errors.js'
