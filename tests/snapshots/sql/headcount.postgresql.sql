-- 2099A001.8.fulltime_sw as of 2024-09-30
SELECT min(daily.n) AS actual, (SELECT count(hc.id) AS count_1 
FROM staff AS hc 
WHERE hc.project_code = '2099A001' AND hc.retired_at IS NULL AND (hc.batch_id IS NULL OR (hc.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND hc.role IN ('社工', '督导') AND hc.employment IN ('专职') AND (hc.started_on IS NULL OR hc.started_on <= '2024-09-30') AND (hc.left_on IS NULL OR hc.left_on > '2024-09-30')) AS evidence, coalesce(sum(CASE WHEN (daily.n < 3.0) THEN 1 ELSE 0 END), 0) AS violations, count(*) AS units 
FROM (SELECT days.day AS day, count(hs.id) AS n 
FROM (SELECT '2024-06-01' AS day UNION SELECT hs_in.started_on AS day 
FROM staff AS hs_in 
WHERE hs_in.project_code = '2099A001' AND hs_in.retired_at IS NULL AND (hs_in.batch_id IS NULL OR (hs_in.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND hs_in.role IN ('社工', '督导') AND hs_in.employment IN ('专职') AND hs_in.started_on > '2024-06-01' AND hs_in.started_on <= '2024-09-30' UNION SELECT hs_out.left_on AS day 
FROM staff AS hs_out 
WHERE hs_out.project_code = '2099A001' AND hs_out.retired_at IS NULL AND (hs_out.batch_id IS NULL OR (hs_out.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND hs_out.role IN ('社工', '督导') AND hs_out.employment IN ('专职') AND hs_out.left_on > '2024-06-01' AND hs_out.left_on <= '2024-09-30') AS days LEFT OUTER JOIN staff AS hs ON hs.project_code = '2099A001' AND hs.retired_at IS NULL AND (hs.batch_id IS NULL OR (hs.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND hs.role IN ('社工', '督导') AND hs.employment IN ('专职') AND (hs.started_on IS NULL OR hs.started_on <= days.day) AND (hs.left_on IS NULL OR hs.left_on > days.day) GROUP BY days.day) AS daily 
WHERE true;
