/**
 * The JSON API: who am I, the plant, alarms and the audit trail for anyone
 * logged in; commands and alarm acknowledgements for operators only.
 */
import express, { Router, type Request, type Response } from 'express'
import { CommandRequestError, type LineController } from '../controller/controller.js'
import type { CommandResult } from '../controller/commands.js'
import { requireRole, sameOrigin } from './guards.js'

export function apiRoutes (controller: () => LineController, allowedOrigins: () => readonly string[]): Router {
  const router = Router()
  const json = express.json({ limit: '8kb' })

  router.get('/api/me', requireRole(), (req, res) => { res.json(req.session.user) })
  router.get('/api/plant', requireRole(), (_req, res) => { res.json(controller().plant) })
  router.get('/api/machines', requireRole(), (_req, res) => { res.json(controller().status()) })
  router.get('/api/alarms', requireRole(), (_req, res) => { res.json(controller().alarms()) })
  router.get('/api/audit', requireRole(), (_req, res) => { res.json(controller().auditEntries()) })

  router.post('/api/machines/:id/commands', sameOrigin(allowedOrigins), requireRole('operator'), json, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const action = typeof body.action === 'string' ? body.action : ''
    try {
      const result = await controller().sendCommand(String(req.params.id), action, body.value, req.session.user!.username)
      res.status(statusOf(result)).json(result)
    } catch (err) {
      if (err instanceof CommandRequestError) { res.status(err.status).json({ error: err.message }); return }
      throw err
    }
  })

  router.post('/api/alarms/:id/ack', sameOrigin(allowedOrigins), requireRole('operator'), (req: Request, res: Response) => {
    const result = controller().acknowledgeAlarm(String(req.params.id), req.session.user!.username)
    if (!result) { res.status(404).json({ error: `no alarm "${String(req.params.id)}" (already acknowledged and cleared?)` }); return }
    res.json(result)
  })
  return router
}

/**
 * 200 when the machine acknowledged, 409 when it refused (its state forbids
 * it), 202 when queued for an offline machine, 504 when it did not answer.
 */
function statusOf (result: CommandResult): number {
  if (result.status === 'acknowledged') return result.ack.ok ? 200 : 409
  return result.status === 'queued' ? 202 : 504
}
