-- 2099A001.10.execution as of 2024-09-30
SELECT (100.0 * coalesce(sum(CASE WHEN 1 THEN CAST(e.amount AS FLOAT) ELSE 0.0 END), 0.0)) / (100000.0 + 0.0) AS actual, coalesce(sum(CASE WHEN 1 THEN 1 ELSE 0 END), 0) AS evidence, 0 AS violations, coalesce(sum(CASE WHEN 1 THEN CAST(e.amount AS FLOAT) ELSE 0.0 END), 0.0) AS spent 
FROM expense AS e 
WHERE e.project_code = '2099A001' AND e.retired_at IS NULL AND (e.batch_id IS NULL OR (e.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND e.date <= '2024-09-30';
