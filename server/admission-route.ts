// The HTTP side of the admission webhooks: the AdmissionReview envelope schema, and the fastify
// route plugin that turns a POSTed review into a review answer with its scoped error handler.
// Every answer is an AdmissionReview carrying the request uid (controller-runtime's
// pkg/webhook/admission/http.go is the model); nothing a client sends crashes it.

import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Logger } from 'pino'
import { Ajv, type ErrorObject } from 'ajv'
import {
  ADMISSION_API_VERSION,
  ADMISSION_KIND,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  type AdmissionReviewAnswer,
  errored,
  Operation,
  resultOf,
} from './admission.ts'
import { AdmissionResult as Result, type WebhookMetrics } from './metrics.ts'

// ---- the envelope schema: the review and its request, never the embedded objects ----

const gvk = { type: 'object', required: ['group', 'version', 'kind'], properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } } }
const objectOrNull = { type: ['object', 'null'] }
const mustBeObject = (field: string) => ({ required: [field], properties: { [field]: { type: 'object' } } })

/** JSON schema of the AdmissionReview envelope. `object`/`oldObject` are checked for being objects only. */
export const ENVELOPE_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: ADMISSION_API_VERSION },
    kind: { const: ADMISSION_KIND },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1 },
        kind: gvk,
        subResource: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        operation: { type: 'string', minLength: 1 },
        object: objectOrNull,
        oldObject: objectOrNull,
        dryRun: { type: 'boolean' },
      },
      allOf: [
        { if: { properties: { operation: { enum: [Operation.Create, Operation.Update] } } }, then: mustBeObject('object') },
        { if: { properties: { operation: { const: Operation.Update } } }, then: mustBeObject('oldObject') },
      ],
    },
  },
} as const

// Compiled once. Ajv's defaults neither coerce, remove nor default anything, so the embedded
// objects reach the handlers byte-for-byte as parsed (house style lesson 5).
const checkEnvelope = new Ajv({ strict: true, allowUnionTypes: true }).compile<AdmissionReview>(ENVELOPE_SCHEMA)

const TYPE_WORDS: Readonly<Record<string, string>> = { object: 'an object', string: 'a string', boolean: 'a boolean', 'object,null': 'an object or null' }

/** One readable line for the first schema error, naming the field; never echoes the value. */
function describeEnvelopeError(error: ErrorObject | undefined): string {
  if (!error) return 'invalid AdmissionReview'
  const path = error.instancePath.slice(1).replaceAll('/', '.')
  const field = path === '' ? 'the body' : path
  switch (error.keyword) {
    case 'required':
      return `invalid AdmissionReview: ${path === '' ? '' : path + '.'}${String(error.params['missingProperty'])} is required`
    case 'const':
      return `invalid AdmissionReview: ${field} must be ${JSON.stringify(error.params['allowedValue'])}`
    case 'type': {
      const type = String(error.params['type'])
      return `invalid AdmissionReview: ${field} must be ${TYPE_WORDS[type] ?? type}`
    }
    case 'minLength':
      return `invalid AdmissionReview: ${field} must not be empty`
    default:
      return `invalid AdmissionReview: ${field} ${error.message ?? 'is invalid'}`
  }
}

/** Checks a parsed body; returns the review, or the 400 answer naming what is wrong. */
function readReview(body: unknown): { review: AdmissionReview } | { error: AdmissionResponse } {
  if (checkEnvelope(body)) return { review: body }
  const request = (body as { request?: { uid?: unknown } } | null | undefined)?.request
  return { error: errored(request ?? undefined, 400, describeEnvelopeError(checkEnvelope.errors?.[0])) }
}

// ---- the route plugin ----

/** controller-runtime's `maxRequestSize` (pkg/webhook/admission/http.go): 7 MiB. */
export const MAX_REQUEST_BYTES = 7 * 1024 * 1024

/** A webhook's logic: request in, response out. Domain checks return verdicts; they never throw. */
export type AdmissionHandler = (request: AdmissionRequest) => AdmissionResponse | Promise<AdmissionResponse>

export interface AdmissionWebhookOptions {
  /** Label in metrics and logs, e.g. `validate-workers`. */
  name: string
  /** Route path, e.g. `/validate-workers`. */
  path: string
  handle: AdmissionHandler
  metrics: WebhookMetrics
  log: Logger
}

const CLIENT_ERRORS: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type: the admission webhook accepts application/json only',
  FST_ERR_CTP_BODY_TOO_LARGE: `request body is larger than the ${MAX_REQUEST_BYTES / 1024 / 1024} MiB limit`,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request body length does not match its Content-Length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'request body is empty: expected an AdmissionReview',
  FST_ERR_CTP_INVALID_JSON_BODY: 'request body is not valid JSON (or holds a __proto__ or constructor.prototype key)',
}

/** A name-like field for a log line: strings only (a malformed body may put anything there), capped. */
function nameField(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 253) : ''
}

/** Stack frames only: an error's message may quote request data, which never reaches a log. */
function framesOf(error: unknown): string[] {
  const stack = error instanceof Error ? (error.stack ?? '') : ''
  return stack.split('\n').filter((line) => /^\s+at /.test(line)).slice(0, 10)
}

const REVIEW_ANSWER_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'response'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: {
      type: 'object',
      required: ['uid', 'allowed'],
      properties: {
        uid: { type: 'string' },
        allowed: { type: 'boolean' },
        status: { type: 'object', properties: { code: { type: 'integer' }, reason: { type: 'string' }, message: { type: 'string' } } },
        patchType: { type: 'string' },
        patch: { type: 'string' },
        warnings: { type: 'array', items: { type: 'string' } },
      },
    },
  },
}

/**
 * One admission webhook route (`POST path`) in its own encapsulated context: JSON bodies only,
 * the envelope checked, the handler's response wrapped in a review; malformed input → errored 400
 * and any exception → errored 500 with the uid, both as HTTP 200 (controller-runtime convention).
 * Logs one line per denial and per refusal (uid, namespace/name, operation, reason), never a body.
 */
export const admissionWebhook: FastifyPluginAsync<AdmissionWebhookOptions> = async (instance, options) => {
  const { name: webhook, log } = options
  const metrics = options.metrics.forWebhook(webhook)
  instance.removeContentTypeParser('text/plain')

  /** Records the decision, logs a refusal (one line: info for a denial, warn/error otherwise), wraps the response. */
  function answer(reply: FastifyReply, request: unknown, response: AdmissionResponse, failure?: unknown): AdmissionReviewAnswer {
    const result = resultOf(response)
    metrics.decided(result)
    if (result === Result.Denied || result === Result.Errored) {
      const fields = (request ?? {}) as Record<string, unknown>
      const line = {
        webhook,
        uid: nameField(response.uid),
        namespace: nameField(fields['namespace']),
        name: nameField(fields['name']),
        operation: nameField(fields['operation']),
        code: response.status?.code,
        reason: response.status?.message ?? response.status?.reason,
        ...(failure === undefined ? {} : { errorType: (failure as Error).name, stack: framesOf(failure) }),
      }
      if (result === Result.Denied) log.info(line, 'admission request denied')
      else if (failure === undefined) log.warn(line, 'admission request refused')
      else log.error(line, 'admission handler failed')
    }
    reply.code(200)
    return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response }
  }

  instance.addHook('onRequest', (_request, reply, done) => {
    const started = performance.now()
    metrics.started()
    reply.raw.once('close', () => metrics.finished((performance.now() - started) / 1000))
    done()
  })

  instance.setErrorHandler((error: FastifyError, request, reply) => {
    const clientMessage = CLIENT_ERRORS[error.code]
    if (clientMessage !== undefined) return answer(reply, undefined, errored(undefined, 400, clientMessage))
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return answer(reply, undefined, errored(undefined, 400, `malformed request (${error.code ?? 'client error'})`))
    }
    const review = request.body as { request?: Partial<AdmissionRequest> } | null | undefined
    const response = errored(review?.request, 500, 'internal error while handling the admission request; see the webhook server log')
    return answer(reply, review?.request, response, error)
  })

  instance.post(options.path, { schema: { response: { 200: REVIEW_ANSWER_SCHEMA } } }, async (request, reply) => {
    const read = readReview(request.body)
    if ('error' in read) return answer(reply, (request.body as { request?: unknown } | null | undefined)?.request, read.error)
    const response = await options.handle(read.review.request)
    return answer(reply, read.review.request, response)
  })
}
