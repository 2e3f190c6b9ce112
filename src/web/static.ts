/**
 * The page itself: index.html (with this process's token put in), app.css and the compiled
 * browser modules. A fixed set of names is served; nothing from the request reaches a path
 * unchecked.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

/** Where the page's files live: public/ in the sources, client/ beside this compiled module. */
export interface StaticDirs {
  publicDir: string;
  clientDir: string;
}

/** The installed layout: dist/src/web/static.js serves src/web/public and dist/src/web/client. */
export function defaultStaticDirs(): StaticDirs {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return { publicDir: path.resolve(here, '../../../src/web/public'), clientDir: path.join(here, 'client') };
}

const TOKEN_PLACEHOLDER = '__DICOMBRIDGE_TOKEN__';
const MODULE_NAME = /^\/js\/([a-z0-9-]{1,64})\.js$/;

/** Serves a static GUI file for `pathname`; false when there is none by that name. */
export async function serveStatic(res: ServerResponse, pathname: string, dirs: StaticDirs, token: string): Promise<boolean> {
  let file: string;
  let type: string;
  if (pathname === '/' || pathname === '/index.html') {
    const html = (await readFile(path.join(dirs.publicDir, 'index.html'), 'utf8')).replaceAll(TOKEN_PLACEHOLDER, token);
    send(res, 'text/html; charset=utf-8', Buffer.from(html, 'utf8'));
    return true;
  } else if (pathname === '/app.css') {
    file = path.join(dirs.publicDir, 'app.css');
    type = 'text/css; charset=utf-8';
  } else {
    const match = MODULE_NAME.exec(pathname);
    if (!match) return false;
    file = path.join(dirs.clientDir, `${match[1]}.js`);
    type = 'text/javascript; charset=utf-8';
  }
  const body = await readFile(file).catch(() => null);
  if (body === null) return false;
  send(res, type, body);
  return true;
}

function send(res: ServerResponse, type: string, body: Buffer): void {
  // no-cache: after an upgrade the browser must not mix old and new modules.
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(body);
}
