-- 2099A001.22.supervisor_qualified as of 2024-09-30
SELECT coalesce(sum(CASE WHEN (NOT ((EXISTS (SELECT cred.id 
FROM staffcredential AS cred 
WHERE cred.project_code = '2099A001' AND cred.retired_at IS NULL AND (cred.batch_id IS NULL OR (cred.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND cred.staff_id = s.staff_id AND cred.credential = 'social_worker' AND (cred.obtained_on IS NULL OR cred.obtained_on <= '2024-09-30') AND (cred.expires_on IS NULL OR cred.expires_on >= '2024-09-30'))) AND (s.practice_since IS NOT NULL AND (((CAST(CAST(STRFTIME('%Y', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER)) - 1) - ((CAST(CAST(STRFTIME('%Y', s.practice_since) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', s.practice_since) AS INTEGER) AS INTEGER)) - 1)) - CASE WHEN (CAST(CAST(STRFTIME('%d', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) < CAST(CAST(STRFTIME('%d', s.practice_since) AS INTEGER) AS INTEGER)) THEN 1 ELSE 0 END >= 60 OR s.practice_since IS NULL AND coalesce(s.experience_years, 0) >= 4.999999999))) THEN 1 ELSE 0 END), 0) AS actual, count(*) AS evidence, coalesce(sum(CASE WHEN (NOT ((EXISTS (SELECT cred.id 
FROM staffcredential AS cred 
WHERE cred.project_code = '2099A001' AND cred.retired_at IS NULL AND (cred.batch_id IS NULL OR (cred.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND cred.staff_id = s.staff_id AND cred.credential = 'social_worker' AND (cred.obtained_on IS NULL OR cred.obtained_on <= '2024-09-30') AND (cred.expires_on IS NULL OR cred.expires_on >= '2024-09-30'))) AND (s.practice_since IS NOT NULL AND (((CAST(CAST(STRFTIME('%Y', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER)) - 1) - ((CAST(CAST(STRFTIME('%Y', s.practice_since) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', s.practice_since) AS INTEGER) AS INTEGER)) - 1)) - CASE WHEN (CAST(CAST(STRFTIME('%d', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) < CAST(CAST(STRFTIME('%d', s.practice_since) AS INTEGER) AS INTEGER)) THEN 1 ELSE 0 END >= 60 OR s.practice_since IS NULL AND coalesce(s.experience_years, 0) >= 4.999999999)) OR (SELECT min(ua.date) AS min_1 
FROM activity AS ua 
WHERE ua.project_code = '2099A001' AND ua.retired_at IS NULL AND (ua.batch_id IS NULL OR (ua.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND ua.date <= '2024-09-30' AND (ua.staff = s.staff_id OR ua.staff = s.name) AND (NOT (EXISTS (SELECT uc.id 
FROM staffcredential AS uc 
WHERE uc.project_code = '2099A001' AND uc.retired_at IS NULL AND (uc.batch_id IS NULL OR (uc.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND uc.staff_id = s.staff_id AND uc.credential = 'social_worker' AND (uc.obtained_on IS NULL OR uc.obtained_on <= ua.date) AND (uc.expires_on IS NULL OR uc.expires_on >= ua.date))) OR NOT (s.practice_since IS NOT NULL AND (((CAST(CAST(STRFTIME('%Y', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER)) - 1) - ((CAST(CAST(STRFTIME('%Y', s.practice_since) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', s.practice_since) AS INTEGER) AS INTEGER)) - 1)) - CASE WHEN (CAST(CAST(STRFTIME('%d', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) < CAST(CAST(STRFTIME('%d', s.practice_since) AS INTEGER) AS INTEGER)) THEN 1 ELSE 0 END >= 60 OR s.practice_since IS NULL AND coalesce(s.experience_years, 0) >= 4.999999999))) IS NOT NULL) THEN 1 ELSE 0 END), 0) AS violations, coalesce(sum(CASE WHEN ((SELECT min(ua.date) AS min_1 
FROM activity AS ua 
WHERE ua.project_code = '2099A001' AND ua.retired_at IS NULL AND (ua.batch_id IS NULL OR (ua.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND ua.date <= '2024-09-30' AND (ua.staff = s.staff_id OR ua.staff = s.name) AND (NOT (EXISTS (SELECT uc.id 
FROM staffcredential AS uc 
WHERE uc.project_code = '2099A001' AND uc.retired_at IS NULL AND (uc.batch_id IS NULL OR (uc.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND uc.staff_id = s.staff_id AND uc.credential = 'social_worker' AND (uc.obtained_on IS NULL OR uc.obtained_on <= ua.date) AND (uc.expires_on IS NULL OR uc.expires_on >= ua.date))) OR NOT (s.practice_since IS NOT NULL AND (((CAST(CAST(STRFTIME('%Y', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER)) - 1) - ((CAST(CAST(STRFTIME('%Y', s.practice_since) AS INTEGER) AS INTEGER) * 12 + CAST(CAST(STRFTIME('%m', s.practice_since) AS INTEGER) AS INTEGER)) - 1)) - CASE WHEN (CAST(CAST(STRFTIME('%d', coalesce(s.started_on, '2024-06-01')) AS INTEGER) AS INTEGER) < CAST(CAST(STRFTIME('%d', s.practice_since) AS INTEGER) AS INTEGER)) THEN 1 ELSE 0 END >= 60 OR s.practice_since IS NULL AND coalesce(s.experience_years, 0) >= 4.999999999))) IS NOT NULL) THEN 1 ELSE 0 END), 0) AS acted_without 
FROM staff AS s 
WHERE s.project_code = '2099A001' AND s.retired_at IS NULL AND (s.batch_id IS NULL OR (s.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND (s.started_on IS NULL OR s.started_on <= '2024-09-30') AND s.role IN ('督导');
