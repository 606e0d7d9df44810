import { finished, Readable } from 'node:stream'
import { GatewayErrors } from '../errors.js'

/**
 * A request body that starts reading its source only once the upstream connection pulls the first
 * chunk. Until then the source is untouched, so a replica that refused the connection can be
 * replaced by another with the same body. Backpressure passes through: the source pauses while
 * the upstream socket is full. Destroying this stream leaves the source alone: the client
 * connection stays usable for the gateway's error response. A body that grows past `limit` bytes
 * (one sent chunked, of no declared length) fails with GATEWAY_PAYLOAD_TOO_LARGE.
 */
export class DeferredBody extends Readable {
  #source: Readable
  #limit: number
  #received = 0
  #started = false
  #detach: (() => void) | undefined

  constructor (source: Readable, limit = Infinity) {
    super()
    this.#source = source
    this.#limit = limit
  }

  /** Whether any byte has been taken from the source. */
  get started (): boolean {
    return this.#started
  }

  override _read (): void {
    if (!this.#started) this.#start()
    this.#source.resume()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.#detach?.()
    callback(err)
  }

  #start (): void {
    this.#started = true
    const source = this.#source

    const onData = (chunk: Buffer): void => {
      this.#received += chunk.length
      if (this.#received > this.#limit) {
        this.destroy(new GatewayErrors.PayloadTooLarge(this.#limit))
        return
      }
      if (!this.push(chunk)) source.pause()
    }
    source.on('data', onData)
    const stopWatching = finished(source, { writable: false }, (err) => {
      if (err) this.destroy(err)
      else this.push(null)
    })

    this.#detach = () => {
      source.off('data', onData)
      stopWatching()
    }
  }
}
