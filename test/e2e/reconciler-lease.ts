// Lease timings of the leader-election tests: controller-runtime's 15 s / 10 s / 2 s scaled down
// so a takeover happens in seconds, keeping the same ratios' intent (renew deadline < duration).

export const LEASE = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 } as const
