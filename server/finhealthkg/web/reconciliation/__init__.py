"""The Reconciliation Service API 0.2 (/reconcile): the service, matching candidates, data extension."""
