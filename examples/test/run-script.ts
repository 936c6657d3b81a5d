import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Runs an example script the way a user does (`node src/<name>.ts …`), in its own process. */
export function startScript(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const script = fileURLToPath(new URL(`../src/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text))
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text))
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve(code))
  })
  return { child, output: () => output, exit }
}

/** Runs an example to completion; throws with its output when it fails. */
export async function runScript(name: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const run = startScript(name, args, env)
  const code = await run.exit
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${run.output()}`)
  return run.output()
}
