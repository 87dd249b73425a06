/** Route guards: who may call what. */
import type { NextFunction, Request, Response } from 'express'
import type { Role } from '../users.js'

/** 401 without a login; 403 when the user's role is not one of `roles`. */
export function requireRole (...roles: Role[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const user = req.session.user
    if (!user) { res.status(401).json({ error: 'log in first (POST /login)' }); return }
    if (roles.length > 0 && !roles.includes(user.role)) {
      res.status(403).json({ error: `${user.username} is a ${user.role}; this needs the role ${roles.join(' or ')}` })
      return
    }
    next()
  }
}

/**
 * Cross-site request forgery guard for cookie-authenticated POSTs: a browser
 * sends Origin on every POST, so one from a page on another origin is refused;
 * requests without Origin are not from browsers (curl, tests) and pass on to
 * the login check.
 */
export function sameOrigin (allowed: () => readonly string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin')
    if (origin !== undefined && !allowed().includes(origin)) {
      res.status(403).json({ error: `requests from origin ${origin} are not accepted` })
      return
    }
    next()
  }
}
