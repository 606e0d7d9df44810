import { Type } from '@sinclair/typebox'
import { SnapshotSchema } from '@tessera/metrics'

export const HealthcheckSchema = Type.Object({
  status: Type.Literal('available'),
  debug: Type.Union([Type.Literal('true'), Type.Literal('false')]),
  version: Type.String()
})

// A service's snapshot passes through as the service sent it; null when it could not be fetched.
const ServiceSnapshotSchema = Type.Union([
  Type.Object({}, { additionalProperties: true }),
  Type.Null()
])

export const AggregateMetricsSchema = Type.Object({
  ...SnapshotSchema.properties,
  services: Type.Object({
    gateway: SnapshotSchema,
    profile: ServiceSnapshotSchema,
    media: ServiceSnapshotSchema
  })
}, { additionalProperties: true })
