-- 2099A001.3.satisfaction as of 2024-09-30
SELECT coalesce(sum(CASE WHEN (r.respondent_type IN ('client') AND r.satisfied IS NOT NULL AND r.satisfied = 1) THEN 1 ELSE 0 END), 0) AS num, coalesce(sum(CASE WHEN (r.respondent_type IN ('client') AND r.satisfied IS NOT NULL) THEN 1 ELSE 0 END), 0) AS den, coalesce(sum(CASE WHEN (r.respondent_type IN ('client') AND r.satisfied IS NOT NULL) THEN 1 ELSE 0 END), 0) AS evidence, 0 AS violations, CASE WHEN (coalesce(sum(CASE WHEN (r.respondent_type IN ('client') AND r.satisfied IS NOT NULL) THEN 1 ELSE 0 END), 0) > 0) THEN (100.0 * coalesce(sum(CASE WHEN (r.respondent_type IN ('client') AND r.satisfied IS NOT NULL AND r.satisfied = 1) THEN 1 ELSE 0 END), 0)) / (CAST(coalesce(sum(CASE WHEN (r.respondent_type IN ('client') AND r.satisfied IS NOT NULL) THEN 1 ELSE 0 END), 0) AS FLOAT) + 0.0) ELSE NULL END AS actual 
FROM survey AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30';
