-- 2099A001.1.visit_people as of 2024-09-30
SELECT count(distinct(CASE WHEN (r.activity_type IN ('visit')) THEN r.person_id ELSE NULL END)) AS actual, coalesce(sum(CASE WHEN (r.activity_type IN ('visit')) THEN 1 ELSE 0 END), 0) AS evidence, 0 AS violations 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30';
