import type { FastifyInstance, FastifyRequest } from 'fastify'
import swaggerUi from '@fastify/swagger-ui'
import type { DocsCatalogue } from '../openapi/catalogue.js'

export interface DocsRoutesOptions {
  catalogue: DocsCatalogue
}

const isDocumentRoute = (request: FastifyRequest): boolean =>
  /\/(json|yaml)$/.test(request.routeOptions.url ?? '')

/**
 * `/docs` (Swagger UI) and `/docs/json`: the gateway's own routes merged with the services' public
 * ones. swagger-ui transforms the document synchronously, so the services' documents are fetched
 * in a preHandler first.
 */
export async function docsRoutes (app: FastifyInstance, opts: DocsRoutesOptions): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiHooks: {
      preHandler: async (request) => {
        if (isDocumentRoute(request)) await opts.catalogue.refresh(request.log)
      }
    },
    transformSpecification: (own) => opts.catalogue.merge(own)
  })
}
