// Package saga will hold the saga coordinators: definitions of steps, each a
// job with an optional compensating job, driven by JOB_COMPLETED /
// JOB_FAILED / JOB_STOPPED events and persisted in the SAGAS bucket. It
// speaks to jobs only through events and commands.
package saga
