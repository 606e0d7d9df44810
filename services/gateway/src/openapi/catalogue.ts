import type { FastifyBaseLogger } from 'fastify'
import type { InternalClient, Upstream } from '../upstreams.js'
import { isOpenApiDocument, mergeDocuments, type ServiceDocument } from './merge.js'

export interface DocumentSource {
  upstream: Upstream
  prefix: string
}

interface Entry {
  fetchedAt: number
  document: Record<string, unknown> | null
}

/**
 * The services' OpenAPI documents (`GET /openapi.json` on each), fetched on demand and reused for
 * `ttlMs`. A service that fails is left out of the merge until its entry expires.
 */
export function createDocsCatalogue (sources: DocumentSource[], client: InternalClient, ttlMs: number) {
  const entries = new Map<string, Entry>()
  let refreshing: Promise<void> | undefined

  const fetchOne = async ({ upstream }: DocumentSource, log: FastifyBaseLogger): Promise<void> => {
    let document: Entry['document'] = null
    try {
      const fetched = await client.getJson(`${upstream.order()[0]}/openapi.json`)
      if (isOpenApiDocument(fetched)) document = fetched
      else log.warn({ upstream: upstream.name }, 'service OpenAPI document is not OpenAPI 3')
    } catch (err) {
      log.warn({ err, upstream: upstream.name }, 'service OpenAPI document unavailable')
    }
    entries.set(upstream.name, { fetchedAt: Date.now(), document })
  }

  return {
    /** Fetches the documents that are missing or stale; concurrent callers share one round. */
    async refresh (log: FastifyBaseLogger): Promise<void> {
      const stale = sources.filter(({ upstream }) => {
        const entry = entries.get(upstream.name)
        return entry === undefined || Date.now() - entry.fetchedAt >= ttlMs
      })
      if (stale.length === 0) return

      refreshing ??= Promise.all(stale.map((source) => fetchOne(source, log)))
        .then(() => undefined)
        .finally(() => { refreshing = undefined })
      await refreshing
    },

    /** `own` with the paths of every service document at hand. */
    merge (own: Record<string, unknown>): Record<string, unknown> {
      const documents: ServiceDocument[] = []
      for (const { upstream, prefix } of sources) {
        const document = entries.get(upstream.name)?.document
        if (document != null) documents.push({ service: upstream.name, prefix, document })
      }
      return mergeDocuments(own, documents)
    }
  }
}

export type DocsCatalogue = ReturnType<typeof createDocsCatalogue>
