-- 2099A001.5.no_incident as of 2024-09-30
SELECT count(*) AS actual, count(*) AS evidence, count(*) AS violations 
FROM incident AS i 
WHERE i.project_code = '2099A001' AND i.retired_at IS NULL AND (i.batch_id IS NULL OR (i.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND i.date <= '2024-09-30' AND i.incident_type IN ('negative_publicity');
