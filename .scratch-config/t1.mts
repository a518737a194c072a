import { z } from 'zod';
import * as AjvMod from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
console.log(Object.keys(AjvMod));
for (const s of [{type:'object', properties:{a:{type:'string'}}, required:['a']}, {type:'wat'}, {properties: 5}, {type:'object', properties:{a:{$ref:'#/$defs/x'}}, $defs:{x:{type:'number'}}}, {type: 'object'}]) {
  try { const r = z.fromJSONSchema(s as any); console.log('ok', r.safeParse({a:'x'}).success, r.safeParse({}).success); } catch (e) { console.log('err', (e as Error).message); }
}
console.log(JSON.stringify(z.toJSONSchema(z.object({a: z.string().describe('A'), n: z.number().optional()}))));
const r = z.strictObject({a: z.string()}).safeParse({a: 1, b: 2});
console.log(JSON.stringify(r.error!.issues));
const u = z.union([z.string(), z.record(z.string(), z.unknown())]).safeParse(5);
console.log(JSON.stringify(u.error!.issues));
