/**
 * Login and logout. The form posts urlencoded and gets redirects; a JSON
 * client (tests, scripts) gets JSON and status codes.
 */
import path from 'node:path'
import express, { Router, type Request, type Response, type NextFunction } from 'express'
import type { BrokerApi, Logger } from '@embedmq/core'
import type { UserStore } from '../users.js'

export interface AuthRoutesOptions {
  users: UserStore
  publicDir: string
  logger: Logger
  /** The broker, to close a user's MQTT connections when they log out. */
  broker: () => BrokerApi | undefined
}

export function authRoutes (options: AuthRoutesOptions): Router {
  const router = Router()
  const wantsJson = (req: Request): boolean => req.is('application/json') === 'application/json'

  router.get('/login', (req, res) => {
    if (req.session.user) { res.redirect(303, '/'); return }
    res.sendFile(path.join(options.publicDir, 'login.html'))
  })

  router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), express.json({ limit: '4kb' }),
    async (req: Request, res: Response, next: NextFunction) => {
      const body = (req.body ?? {}) as Record<string, unknown>
      const username = typeof body.username === 'string' ? body.username : ''
      const password = typeof body.password === 'string' ? body.password : ''
      const user = username === '' ? undefined : await options.users.verify(username, password)
      if (!user) {
        options.logger.warn({ username, ip: req.ip }, `failed dashboard login for "${username}"`)
        if (wantsJson(req)) res.status(401).json({ error: 'wrong username or password' })
        else res.redirect(303, '/login?error=1')
        return
      }
      // A fresh session id at login, so a session id planted before login is worthless (session fixation).
      req.session.regenerate((err) => {
        if (err) { next(err); return }
        req.session.user = user
        options.logger.info({ username: user.username, role: user.role }, `${user.username} logged in as ${user.role}`)
        if (wantsJson(req)) res.json(user)
        else res.redirect(303, '/')
      })
    })

  router.post('/logout', (req, res, next) => {
    const user = req.session.user
    req.session.destroy((err) => {
      if (err) { next(err); return }
      // A destroyed session refuses new MQTT connections; close the ones already open.
      const broker = options.broker()
      if (user && broker) {
        for (const c of broker.clients()) {
          if (c.username === user.username && (c.transport === 'ws' || c.transport === 'wss')) void broker.disconnect(c.id, { connectionId: c.connectionId })
        }
      }
      res.clearCookie('factory.sid')
      if (wantsJson(req)) res.json({ ok: true })
      else res.redirect(303, '/login')
    })
  })
  return router
}
