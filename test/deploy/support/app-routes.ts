import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';

function variants(path: unknown): string[] {
  const list = Array.isArray(path) ? (path as unknown[]) : [path];
  return list.filter((p): p is string => typeof p === 'string').map((p) => p.replace(/^\/+|\/+$/g, ''));
}

/** Routes a Nest controller class declares, as `GET /healthz`, read from its decorators. */
export function controllerRoutes(controller: abstract new (...args: never[]) => unknown): string[] {
  const bases = variants(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
  const proto = controller.prototype as Record<string, unknown>;
  const routes: string[] = [];
  for (const name of Object.getOwnPropertyNames(proto)) {
    const handler = proto[name];
    if (name === 'constructor' || typeof handler !== 'function') continue;
    const method: unknown = Reflect.getMetadata(METHOD_METADATA, handler);
    if (typeof method !== 'number') continue;
    for (const base of bases) {
      for (const path of variants(Reflect.getMetadata(PATH_METADATA, handler))) {
        routes.push(`${RequestMethod[method]} /${[base, path].filter((p) => p !== '').join('/')}`);
      }
    }
  }
  return routes;
}
