import { existsSync } from 'node:fs';
import path from 'node:path';
import { ACTIONS, EdgeAuth, principalOf } from '@sandbox-relay/auth';
import { SandboxId, SandboxListQuery, type SandboxList } from '@sandbox-relay/contracts';
import { AppError, NotFoundError, parseRequest } from '@sandbox-relay/service-kit';
import { z } from 'zod';
import express, { Router } from 'express';
import type { SandboxListRepository } from './sandbox-list.repository';

export interface DashboardRouteDeps {
  sandboxes: SandboxListRepository;
  /** The dashboard's built files (`index.html`, `assets/`); absent until `npm run build:dashboard`. */
  dashboardDir: string;
  /** Viewers and operators read the API, each only their sandboxes; the static pages hold no data and are public. */
  auth?: EdgeAuth;
}

const SandboxParams = z.object({ sandboxId: SandboxId });

/** The dashboard's read API and its static files at `/`. */
export function dashboardRouter({ sandboxes, dashboardDir, auth = EdgeAuth.off() }: DashboardRouteDeps): Router {
  const router = Router();

  router.get('/api/v1/sandboxes', auth.require(ACTIONS.EVENTS_READ), async (req, res) => {
    const query = parseRequest(SandboxListQuery, req.query, 'query');
    const generatedAt = new Date().toISOString();
    // A scoped token sees its own sandboxes only: its scope goes into the queries, so its list holds
    // its most recently active sandboxes however many others are busier.
    const answer: SandboxList = {
      sandboxes: await sandboxes.list(query.limit, principalOf(res).sandboxes),
      generated_at: generatedAt,
    };
    res.setHeader('cache-control', 'no-store');
    res.json(answer);
  });

  router.get(
    '/api/v1/sandboxes/:sandboxId',
    auth.require(ACTIONS.EVENTS_READ, { sandboxParam: 'sandboxId' }),
    async (req, res) => {
      const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
      const summary = await sandboxes.get(sandboxId);
      if (!summary) throw new NotFoundError(`no sandbox ${sandboxId}: no session and no events`);
      res.setHeader('cache-control', 'no-store');
      res.json(summary);
    },
  );

  // Vite names every asset by its content hash, so an asset never changes under its name.
  router.use(
    '/assets',
    express.static(path.join(dashboardDir, 'assets'), {
      immutable: true,
      maxAge: '1y',
      index: false,
      fallthrough: true,
    }),
  );
  router.get(['/', '/index.html'], (_req, res, next) => {
    const index = path.join(dashboardDir, 'index.html');
    if (!existsSync(index)) {
      next(
        new AppError(
          503,
          'dashboard_not_built',
          `the dashboard is not built (no ${index}); run: npm run build:dashboard`,
          undefined,
          true,
        ),
      );
      return;
    }
    // The page names the current assets: always revalidate it.
    res.sendFile(index, { headers: { 'cache-control': 'no-cache' } });
  });
  return router;
}
