// docker/config as the image holds it, for roomgate run on this host: its web_root (the image's
// /usr/share/roomgate/web, a copy of web/) pointed at this checkout's web/, since roomgate does
// not start on a web_root it cannot read. Returns the copy's roomgate.json, under `work`.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function imageConfig(work) {
  const dir = join(work, 'config');
  cpSync(join(REPO, 'docker', 'config'), dir, { recursive: true });
  const file = join(dir, 'roomgate.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), web_root: join(REPO, 'web') }));
  return file;
}
