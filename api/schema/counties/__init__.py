"""The county deployments the city replicates, as the supervisors see them (``counties``)."""
