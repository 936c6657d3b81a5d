import { memoryUsage, resourceUsage } from 'node:process'

/**
 * Tracks the peak resident set size of this process.
 *
 * Two sources, because each misses something: the interval sampler misses spikes that happen while the
 * event loop is blocked (a big synchronous hydration), and `maxRSS` includes everything since the process
 * started. The kernel's `maxRSS` is the number we report; the sampled peak is kept as a cross-check.
 *
 * @example
 * const peak = trackPeakRss()
 * await job()
 * console.log(peak.stop().maxRssBytes)
 */
export function trackPeakRss(intervalMs = 10): { stop(): { sampledPeakBytes: number; maxRssBytes: number } } {
  let sampledPeakBytes = memoryUsage.rss()
  const timer = setInterval(() => {
    const rss = memoryUsage.rss()
    if (rss > sampledPeakBytes) sampledPeakBytes = rss
  }, intervalMs)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
      sampledPeakBytes = Math.max(sampledPeakBytes, memoryUsage.rss())
      return { sampledPeakBytes, maxRssBytes: resourceUsage().maxRSS * 1024 }
    },
  }
}

/** Formats a byte count as MiB with one decimal, e.g. `123.4 MiB`. */
export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
