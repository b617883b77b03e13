// Package airflowtest is a small imitation of the Apache Airflow stable REST
// API (v1) for tests: an httptest.Server holding dag runs in a map, with the
// endpoints jetjobs uses (trigger, get and patch a dag run), Airflow's
// problem+json error bodies, optional basic or bearer authentication, 409
// on a duplicate dag_run_id, and state changes the test controls.
package airflowtest
