type Json = Record<string, unknown>

export interface ServiceDocument {
  service: string
  /** Only paths under this prefix are public through the gateway, e.g. `/users/`. */
  prefix: string
  document: Json
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Whether a fetched document is an OpenAPI 3 document the merge understands. */
export function isOpenApiDocument (value: unknown): value is Json {
  return isObject(value) && typeof value.openapi === 'string' && value.openapi.startsWith('3.') &&
    isObject(value.paths)
}

const componentRef = /^#\/components\/([^/]+)\/(.+)$/

// Security schemes are named directly by `security` requirements, not by $ref: they keep their names.
const shared = new Set(['securitySchemes'])

/** Renames `#/components/<section>/<name>` references to `<service>.<name>`, everywhere in `value`. */
function renameRefs (value: unknown, service: string): unknown {
  if (Array.isArray(value)) return value.map((item) => renameRefs(item, service))
  if (!isObject(value)) return value

  const out: Json = {}
  for (const [key, inner] of Object.entries(value)) {
    const match = key === '$ref' && typeof inner === 'string' ? componentRef.exec(inner) : null
    out[key] = match !== null && !shared.has(match[1]!)
      ? `#/components/${match[1]}/${service}.${match[2]}`
      : renameRefs(inner, service)
  }
  return out
}

/**
 * The gateway's own document with each service's public paths added. Component names are
 * prefixed with the service, since generated names (`def-0`) repeat across services; security
 * schemes and tags are merged by name, the first one kept.
 */
export function mergeDocuments (own: Json, services: ServiceDocument[]): Json {
  const paths: Json = { ...(isObject(own.paths) ? own.paths : {}) }
  const components: Record<string, Json> = {}
  for (const [section, entries] of Object.entries(isObject(own.components) ? own.components : {})) {
    if (isObject(entries)) components[section] = { ...entries }
  }
  const tags = Array.isArray(own.tags) ? [...own.tags] : []
  const tagNames = new Set(tags.map((tag) => (isObject(tag) ? tag.name : undefined)))

  for (const { service, prefix, document } of services) {
    const renamed = renameRefs(document, service) as Json

    for (const [path, item] of Object.entries(renamed.paths as Json)) {
      if (path.startsWith(prefix) && !(path in paths)) paths[path] = item
    }

    const sections = isObject(renamed.components) ? renamed.components : {}
    for (const [section, entries] of Object.entries(sections)) {
      if (!isObject(entries)) continue
      const target = components[section] ??= {}
      for (const [name, entry] of Object.entries(entries)) {
        const key = shared.has(section) ? name : `${service}.${name}`
        if (!(key in target)) target[key] = entry
      }
    }

    for (const tag of Array.isArray(renamed.tags) ? renamed.tags : []) {
      if (!isObject(tag) || tagNames.has(tag.name)) continue
      tagNames.add(tag.name)
      tags.push(tag)
    }
  }

  const merged: Json = { ...own, paths, components }
  if (tags.length > 0) merged.tags = tags
  return merged
}
