/**
 * The page itself: index.html (with this process's token put in), app.css and the compiled
 * browser modules. A fixed set of names is served; nothing from the request reaches a path
 * unchecked.
 *
 * The files are named as the single executable embeds them: `public/index.html`,
 * `public/app.css`, `public/client/<module>.js`. The executable serves its embedded copies;
 * run from the sources, they are read from src/web/public and dist/src/web/client.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { embeddedAsset, isSingleExecutable } from '../runtime/embedded.js';

/** Where the page's files live: public/ in the sources, client/ beside this compiled module. */
export interface StaticDirs {
  publicDir: string;
  clientDir: string;
}

/** Reads one of the page's files by its name (`public/app.css`, `public/client/main.js`); null when there is none. */
export type GuiFiles = (name: string) => Promise<Buffer | null>;

/** The installed layout: dist/src/web/static.js serves src/web/public and dist/src/web/client. */
export function defaultStaticDirs(): StaticDirs {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return { publicDir: path.resolve(here, '../../../src/web/public'), clientDir: path.join(here, 'client') };
}

/** The page's files read from these folders. */
export function filesFromDirs(dirs: StaticDirs): GuiFiles {
  return async (name) => {
    const file = name.startsWith('public/client/')
      ? path.join(dirs.clientDir, name.slice('public/client/'.length))
      : path.join(dirs.publicDir, name.slice('public/'.length));
    return readFile(file).catch(() => null);
  };
}

/** The single executable's embedded files, else the source tree's. */
export function defaultGuiFiles(): GuiFiles {
  if (isSingleExecutable()) return async (name) => embeddedAsset(name) ?? null;
  return filesFromDirs(defaultStaticDirs());
}

const TOKEN_PLACEHOLDER = '__DICOMBRIDGE_TOKEN__';
const MODULE_NAME = /^\/js\/([a-z0-9-]{1,64})\.js$/;

/** Serves a static GUI file for `pathname`; false when there is none by that name. */
export async function serveStatic(res: ServerResponse, pathname: string, files: GuiFiles, token: string): Promise<boolean> {
  let name: string;
  let type: string;
  if (pathname === '/' || pathname === '/index.html') {
    name = 'public/index.html';
    type = 'text/html; charset=utf-8';
  } else if (pathname === '/app.css') {
    name = 'public/app.css';
    type = 'text/css; charset=utf-8';
  } else {
    const match = MODULE_NAME.exec(pathname);
    if (!match) return false;
    name = `public/client/${match[1]}.js`;
    type = 'text/javascript; charset=utf-8';
  }
  let body = await files(name);
  if (body === null) return false;
  if (name === 'public/index.html') body = Buffer.from(body.toString('utf8').replaceAll(TOKEN_PLACEHOLDER, token), 'utf8');
  send(res, type, body);
  return true;
}

function send(res: ServerResponse, type: string, body: Buffer): void {
  // no-cache: after an upgrade the browser must not mix old and new modules.
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(body);
}
